"""Error pages for the HTML side (the API answers in JSON)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def _messages():
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("Your role does not allow this. Ask an administrator if you need it."),
        404: _("There is no such page or record."),
        405: _("This action is not possible here."),
        409: _("This conflicts with the current state of the data; reload and try again."),
        429: _("Too many attempts. Please wait a minute and try again."),
        500: _("Something went wrong on our side. The error has been logged."),
    }


def html_error(error: HTTPException):
    code = error.code or 500
    if isinstance(error, CSRFError):
        message = _("The form had expired or was not sent from this site. Go back, reload it and try again.")
    else:
        message = _messages().get(code, error.description)
    return render_template("incident/error.html", code=code, message=message), code

