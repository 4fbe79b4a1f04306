"""The public transparency record of each procedure (``/transparency/``), in the shape of the
UK Algorithmic Transparency Recording Standard's tier 1: what the procedure's assistant does and
why, how a person can reach a human, what data it keeps and for how long, who is accountable,
and how it is used (conversations started, finished and handed to a person in the last 30 days,
small counts shown as "<5").

Generated from the procedure's YAML (``owner``, ``purpose``, ``retention_days``,
``personal_data``; ``kaifong validate`` requires the first three) and the live figures of
``assistant.transparency``. Public: no sign-in, no cookie, nothing personal; English or Chinese
(``?lang=``, else the browser's preference), in large readable text.
"""

from .views import TEXTS, bp, init_app

__all__ = ["TEXTS", "bp", "init_app"]
