"""Channel-side wording: the few phrases a channel adds around a reply (how to answer).

``N_`` marks a string for Babel's extraction without translating it here; the catalogue's
gettext translates it when a reply is rendered.
"""


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name)
    return message
