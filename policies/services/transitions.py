"""The error of a workflow step that the object's state does not allow (the pages show it, the
API answers 409): reviewing a sent notification, submitting a submitted declaration."""

from django.core.exceptions import ValidationError


class TransitionNotAllowed(ValidationError):
    """The object is not in a state that allows this step."""
