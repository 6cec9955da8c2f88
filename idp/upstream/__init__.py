"""Identity proofing at an upstream OpenID provider (Pao Tang-style), and a simulated one."""
