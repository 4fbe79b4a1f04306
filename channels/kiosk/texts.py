"""The words the kiosk adds around the assistant's replies: headings, buttons, the keypad, the
"more time?" screen, the summary screen. English source text marked with ``N_``; translated at
render with the catalogue's gettext (``t(msgid)`` in templates), so ``kaifong validate`` can
check every one through ``TEXTS``.

Only words live here. Nothing here renders or knows about requests.
"""

from __future__ import annotations

from ..i18n import N_

TITLE = N_("Kaifong help point")
WELCOME_HEADING = N_("Hello. What do you need help with today?")
WELCOME_INTRO = N_("Touch one of the big buttons. You can ask a member of staff at any time.")
CHOOSE_LANGUAGE = N_("Choose your language")
LANGUAGE = N_("Language")
NOT_SURE = N_("Not sure? Tell us what you need")
NOT_SURE_DESCRIPTION = N_("Write a few words, and we will find the right service for you.")
ASK_STAFF = N_("Ask a member of staff")
ASK_STAFF_DESCRIPTION = N_("A person at this office will come and help you.")
READ_ALOUD = N_("Read this screen aloud")
BACK = N_("Back")
START_AGAIN = N_("Start again")
STEP = N_("Step {n} of {total}")
CHECK_HEADING = N_("Check your answer")
TRY_AGAIN = N_("Please try again")
CONTINUE = N_("Continue")
DELETE = N_("Delete last")
CLEAR = N_("Clear all")
YOU_ENTERED = N_("You have entered:")
NOTHING_YET = N_("Nothing yet")
KEYPAD = N_("Keypad")
DAY = N_("Day")
MONTH = N_("Month")
YEAR = N_("Year")
DAY_BEFORE = N_("Day before")
DAY_AFTER = N_("Day after")
MONTH_BEFORE = N_("Month before")
MONTH_AFTER = N_("Month after")
YEAR_BEFORE = N_("Year before")
YEAR_AFTER = N_("Year after")
TEN_YEARS_BEFORE = N_("10 years before")
TEN_YEARS_AFTER = N_("10 years after")
THE_DATE_IS = N_("The date is:")
WRITE_HERE = N_("Write your answer here")
SEND = N_("Send")
DESCRIBE_HEADING = N_("What do you need? Write a few words.")
DESCRIBE_HINT = N_("For example: lost my identity card, or fruit money.")
FIND = N_("Find the right service")
MORE_TIME_HEADING = N_("Do you need more time?")
MORE_TIME_BODY = N_("If you do not touch the screen, it will go back to the start in {seconds} "
                    "seconds, and everything you entered will be deleted.")
MORE_TIME_YES = N_("Yes, I need more time")
FINISH = N_("Finish and clear the screen")
END_HEADING = N_("You have finished")
YOUR_REFERENCE = N_("Your reference number")
WHAT_NEXT = N_("What to bring and where to go")
YOUR_ANSWERS = N_("Your answers")
PRINT = N_("Print this")
SEND_TO_PHONE = N_("Send this to my phone")
SEND_PHONE_HEADING = N_("Which mobile phone number should we send it to?")
SENT_TO_PHONE = N_("Sent by text message to {number}. It may take a minute to arrive.")
NOT_A_MOBILE = N_("That is not a Hong Kong mobile number. Please enter 8 digits, starting with "
                  "4, 5, 6, 7, 8 or 9.")
SENT_ENOUGH = N_("This summary has been sent already. If you need it again, ask a member of "
                  "staff.")
SOMETHING_ELSE = N_("Do something else")
QR_LABEL = N_("QR code of your reference number")
STAFF_HEADING = N_("A member of staff is coming to help you")
STAFF_BODY = N_("Please stay here. Their messages will appear on this screen.")
STAFF_MESSAGES = N_("Messages")
NO_MESSAGES_YET = N_("No messages from staff yet.")
CHECK_MESSAGES = N_("Check for new messages")
WRITE_TO_STAFF = N_("Write a message to the member of staff")
BACK_TO_ASSISTANT = N_("Go back to the assistant")
FROM_STAFF = N_("Staff")
FROM_YOU = N_("You")
FROM_ASSISTANT = N_("Kaifong")
EMERGENCY = N_("Emergency")
IMPORTANT = N_("Important")
SMS_HEADING = N_("Kaifong: your summary")

#: every text the kiosk adds (``kaifong validate`` checks their translations)
TEXTS = tuple(value for name, value in sorted(globals().items())
              if name.isupper() and isinstance(value, str))

__all__ = ["TEXTS"]
