"""Paging of the API's lists: DRF's page numbers, with the one page parameter the schema can state."""
from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class PageNumbers(PageNumberPagination):
    """``?page=N``, N a whole number from 1; anything else (also an empty value, or DRF's ``last``) is a 404
    "Invalid page", like a page past the end. DRF reads ``?page=`` as page 1 and ``?page=last`` as the
    last page, neither of which an integer parameter in the schema can say."""

    last_page_strings = ()

    def get_page_number(self, request, paginator) -> str | int:
        return request.query_params.get(self.page_query_param, 1)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
