"""The names of the authentication context classes (`acr`) this IdP issues, lowest first.

Only names: what reaches each level, and how levels compare, is idp.login.assurance.
"""

from __future__ import annotations

ACR_PASSWORD = "urn:th:go:cgd:idp:aal1-pwd"
ACR_PUSH = "urn:th:go:cgd:idp:aal2-push"
# AAL2 with a phishing-resistant authenticator (NIST SP 800-63B-4 §3.2.5): a passkey, whose
# signature covers this site's origin, so a look-alike page cannot pass it on.
ACR_PHISHING_RESISTANT = "urn:th:go:cgd:idp:aal2-phr"

SUPPORTED = (ACR_PASSWORD, ACR_PUSH, ACR_PHISHING_RESISTANT)  # a client's minimum is one of them
