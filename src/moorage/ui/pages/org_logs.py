"""Usage logs of an organization: its audit entries, newest first, with a chart of activity
(ui/pages/usage_logs.py, the same design as a repository's). Only organization admins see them;
the export link hands the same filters to the REST API's JSON-lines export."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from moorage.ui.pages.org_common import load_org
from moorage.ui.pages.usage_logs import log_view
from moorage.ui.web import page, render


async def logs(request: Request) -> Response:
    view = await load_org(request, request.path_params["org"], "admin")
    variables, status = await log_view(
        request, namespace=view.name, export_base=f"/api/v1/organization/{view.name}/logs"
    )
    return render(
        request,
        "org_logs.html",
        status=status,
        org=view,
        current="logs",
        title=f"{view.name} · usage logs",
        **variables,
    )


routes = [page("/organization/{org}/logs", logs)]
