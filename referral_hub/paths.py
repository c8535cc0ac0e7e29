"""Path segments of the API: an id is any segment but the names of actions beside it.

`/clients/search` and `/agreements/export.csv` are actions, yet the same paths also matched
`/clients/<client_id>` and `/agreements/<agreement_id>`: OPTIONS advertised the id routes'
methods there (GET, PATCH) and a PATCH of `export.csv` looked for an agreement of that id
instead of answering 405. `<id("search"):client_id>` takes any segment but `search`.
"""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter, Map


class IdConverter(BaseConverter):
    """An id in a path: any single segment except the action names given."""

    def __init__(self, url_map: Map, *actions: str) -> None:
        super().__init__(url_map)
        if actions:
            names = "|".join(re.escape(action) for action in actions)
            self.regex = rf"(?!(?:{names})$)[^/]+"


def register_path_converters(app, api) -> None:
    """Before any blueprint's rules use them; documented as plain strings in OpenAPI."""
    app.url_map.converters["id"] = IdConverter
    api.register_converter(IdConverter, lambda _converter: {"type": "string", "minLength": 1})
