"""The demo relying party (a finance portal stand-in)."""
