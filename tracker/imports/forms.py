from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Length


class UploadForm(FlaskForm):
    file = FileField(_l("Spreadsheet (CSV UTF-8 or XLSX)"), validators=[FileRequired(_l("Choose a file."))])
    #: Removed by the view unless the kind loads history and the user may.
    history = BooleanField(_l("Load as history (past payments, already paid)"))


class ConfirmForm(FlaskForm):
    """Carries only the token of the upload kept on the server."""

    token = HiddenField(validators=[DataRequired(), Length(max=64)])
