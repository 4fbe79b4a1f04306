"""Subject access and erasure in the console (supervisors only): find everything held for a
phone number or a reference, export it (a JSON download, or a readable page in English or
Chinese), and erase it.

The number or reference searched for travels only in POST bodies (never in a URL, so never in a
log or the browser's history), and the pages are ``no-store`` like every console page. The
search page shows what was found with numbers masked; the exports show everything, since they
are the citizen's own data. Each look-up, export and erasure is one audit row naming the kind of
search and the counts, never the number. The data work is ``assistant.subject``'s.
"""

from __future__ import annotations

import json

from flask import abort, current_app, g, render_template, request

from assistant import Desk, StaffActionError, mask_personal
from assistant.i18n import canonical_locale
from assistant.subject import erase_subject, find_subject

from ..i18n import N_
from .views import bp

NOT_A_NUMBER = N_("That is not a Hong Kong phone number (8 digits) or a reference number "
                  "(KF and 7 digits). Check it and try again.")
CONFIRM_FIRST = N_("Tick the box to confirm the erasure first.")
TEXTS = (NOT_A_NUMBER, CONFIRM_FIRST)


def _desk() -> Desk:
    return current_app.extensions["kaifong_desk"]


def _supervisor() -> None:
    if g.staff.role != "supervisor":
        abort(403)


def _search() -> tuple[str, str]:
    by = request.form.get("by", "phone")
    return (by if by in ("phone", "reference") else "phone"), request.form.get("value", "")[:64]


@bp.route("/subject", methods=["GET", "POST"])
def subject():
    """The search form; with a search (POST), what was found, masked."""
    _supervisor()
    if request.method == "GET":
        return render_template("staff/subject.html", data=None, by="phone", value="",
                               error=None, erased=None)
    by, value = _search()
    try:
        data = find_subject(_desk().store, by, value)
    except StaffActionError:
        return render_template("staff/subject.html", data=None, by=by, value=value,
                               error=NOT_A_NUMBER, erased=None), 400
    _desk().audit(g.staff.username, "looked_up", None, {"by": by, **data.counts()})
    return render_template("staff/subject.html", data=data, by=by, value=value, error=None,
                           erased=None, masked=mask_personal)


@bp.post("/subject/export")
def subject_export():
    """Everything found, unmasked: ``format=json`` a download, else a readable page in
    ``lang`` (the staff member's language unless another is chosen)."""
    _supervisor()
    by, value = _search()
    try:
        data = find_subject(_desk().store, by, value)
    except StaffActionError:
        abort(400)
    form = request.form.get("format", "page")
    try:
        lang = canonical_locale(request.form.get("lang") or g.get("staff_lang") or "en")
    except ValueError:
        abort(400)
    _desk().audit(g.staff.username, "exported", None,
                  {"by": by, "format": "json" if form == "json" else "page", "language": lang,
                   **data.counts()})
    if form == "json":
        body = json.dumps(data.as_json(), ensure_ascii=False, indent=2)
        stamp = data.generated_at.strftime("%Y%m%d-%H%M%S")
        return current_app.response_class(body, mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="kaifong-subject-access-{stamp}.json"'})
    g.staff_lang = lang        # the page in the language asked for, whatever the console's
    return render_template("staff/subject_export.html", data=data,
                           catalogue=current_app.extensions["kaifong"].catalogue)


@bp.post("/subject/erase")
def subject_erase():
    _supervisor()
    by, value = _search()
    if request.form.get("confirm") != "yes":
        try:
            data = find_subject(_desk().store, by, value)
        except StaffActionError:
            abort(400)
        return render_template("staff/subject.html", data=data, by=by, value=value,
                               error=CONFIRM_FIRST, erased=None, masked=mask_personal), 400
    try:
        result = erase_subject(_desk().store, by, value)
    except StaffActionError:
        abort(400)
    counts = {k: v for k, v in result.counts().items() if k not in ("kept_open_cases", "files")}
    _desk().audit(g.staff.username, "erased", None, {"by": by, **counts})
    return render_template("staff/subject.html", data=None, by=by, value="", error=None,
                           erased=counts)
