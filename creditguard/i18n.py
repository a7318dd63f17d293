"""Translation markers that need no Django, for the pure calculation modules."""


def gettext_noop(message: str) -> str:
    """Return ``message`` unchanged; the name makes ``makemessages`` extract it as a msgid.

    The caller translates the message later, with the user's language active.
    """
    return message
