"""/static: the IdP's stylesheets, scripts and fonts. look.css and its Sarabun fonts are the
look of every part of the project, and the back office (when it runs on its own host) and the
demo portal link them from the issuer: browsers fetch fonts with CORS, so these public files
say that any origin may use them."""

from __future__ import annotations

import os

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class SharedStatic(StaticFiles):
    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
        status_code: int = 200,
    ) -> Response:  # fmt: skip
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
