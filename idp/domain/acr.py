"""The names of the authentication context classes (`acr`) this IdP issues, lowest first.

Only names: what reaches each level, and how levels compare, is idp.login.assurance.
"""

from __future__ import annotations

ACR_PASSWORD = "urn:th:go:cgd:idp:aal1-pwd"
ACR_PUSH = "urn:th:go:cgd:idp:aal2-push"

SUPPORTED = (ACR_PASSWORD, ACR_PUSH)  # a client's minimum must be one of them
