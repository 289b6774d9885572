"""The default weekly check-in: mood, sleep, a safe place tonight, feeling safe at home, a note.

Wording is plain, short and fits one SMS each: many mentees read these on basic phones with
little credit. Nothing in a prompt names a risk, in case someone else reads the phone.
"""

from bot.flows.model import AnswerRisk, Flow, Question

WEEKLY_CHECKIN = Flow(
    name="weekly",
    version=1,
    questions=(
        Question(
            key="mood",
            prompt=(
                "Hi {first_name}, it's your check-in. How are you doing this week? "
                "Reply 1 to 5 (1 = really bad, 5 = really good)."
            ),
            answer="scale_1_5",
            next="sleep",
            branches={"1": "want_call", "2": "want_call"},
        ),
        Question(
            key="want_call",
            prompt="Sorry it's been hard. Would you like your mentor to call you? Reply YES or NO.",
            answer="yes_no",
            next="sleep",
            note_to_mentor={"yes": "asked for a call (low mood this week)"},
        ),
        Question(
            key="sleep",
            prompt="How have you been sleeping? Reply 1 to 5 (1 = very badly, 5 = very well).",
            answer="scale_1_5",
            next="safe_place",
        ),
        Question(
            key="safe_place",
            prompt="Do you have somewhere safe to stay tonight? Reply YES or NO.",
            answer="yes_no",
            next="safe_home",
            branches={"no": "housing_consent", "dont_know": "housing_consent"},
            risks=(
                AnswerRisk(("no",), "housing", "urgent", "said no to somewhere safe to stay tonight"),
                AnswerRisk(("dont_know",), "housing", "concern", "not sure of somewhere safe to stay tonight"),
            ),
        ),
        Question(
            key="housing_consent",
            prompt=(
                "Thanks for telling us. Your mentor will be in touch. Can we ask probation to pass "
                "your details to the council to help with housing? Reply YES or NO."
            ),
            answer="yes_no",
            next="safe_home",
            branches={"yes": "housing_council"},
        ),
        Question(
            key="housing_council",
            prompt="Which town or council area do you want help from? (for example: Leeds)",
            answer="free_text",
            next="safe_home",
        ),
        Question(
            key="safe_home",
            prompt="Do you feel safe where you are living? Reply YES or NO.",
            answer="yes_no",
            next="anything_else",
            risks=(
                AnswerRisk(("no",), "domestic_abuse", "concern", "said they do not feel safe where they live"),
            ),
        ),
        Question(
            key="anything_else",
            prompt="Is there anything you want your mentor to know? Reply with a message, or NO.",
            answer="free_text",
        ),
    ),
    closing=(
        "Thanks {first_name}, that's it for this week. Your mentor will see your answers. "
        "Text CHECKIN to talk any time, or HELP for help."
    ),
    missed="",
)
