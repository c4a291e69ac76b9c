"""The daily scrum as CSV, for the page and the API alike."""

import csv

from django.http import HttpResponse

from backlog.api import spreadsheet_safe
from standups import selectors


def export_csv(project, rows: list[dict], start, end) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.key}-daily-scrum-{start}-{end}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(selectors.EXPORT_FIELDS)
    for row in rows:
        cells = [row[name] if name != "items" else " ".join(row[name]) for name in selectors.EXPORT_FIELDS]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    return response
