"""The starting taxonomies and response-step catalogue, loaded by a data migration.

Administrators edit them afterwards; codes are stable, labels may change.
"""

TERMS: dict[str, list[tuple[str, str]]] = {
    "platform": [
        ("instagram", "Instagram"),
        ("snapchat", "Snapchat"),
        ("tiktok", "TikTok"),
        ("facebook", "Facebook"),
        ("whatsapp", "WhatsApp"),
        ("telegram", "Telegram"),
        ("discord", "Discord"),
        ("roblox", "Roblox"),
        ("x", "X (Twitter)"),
        ("video_chat", "Random video chat (Omegle-like)"),
        ("dating_app", "Dating app"),
        ("online_game", "Online game"),
        ("email", "E-mail"),
        ("sms", "SMS or phone"),
        ("other", "Other platform"),
    ],
    "approach": [
        ("flattery", "Compliments or flattery"),
        ("offer", "Offer of money, gifts or game credit"),
        ("fake_romance", "Fake romantic profile"),
        ("impersonation", "Impersonating someone known"),
        ("hacked_account", "Hacked account or stolen images"),
        ("live_capture", "Capture during live stream or video call"),
        ("ai_generated", "AI-generated or manipulated image"),
        ("known_offline", "Someone known offline"),
    ],
    "content_type": [
        ("self_image", "Self-taken image"),
        ("self_video", "Self-taken video"),
        ("live_capture", "Live-stream capture"),
        ("manipulated", "Manipulated or AI-generated"),
        ("none", "None yet"),
    ],
    "sextortion_type": [
        ("financial", "Financial"),
        ("sexual", "More sexual content or acts"),
        ("relational", "Relational"),
        ("other", "Other"),
    ],
    "demand": [
        ("more_images", "More images or videos"),
        ("live_acts", "Live sexual acts"),
        ("money", "Money"),
        ("meeting", "Meeting in person"),
        ("other", "Other"),
    ],
    "threat": [
        ("family", "Send to family"),
        ("friends", "Send to friends"),
        ("school_work", "Send to school or work"),
        ("publish", "Publish online"),
        ("other", "Other"),
    ],
    "payment_method": [
        ("gift_card", "Gift card"),
        ("crypto", "Cryptocurrency"),
        ("bank_transfer", "Bank transfer"),
        ("payment_app", "Payment app"),
        ("game_currency", "Game currency"),
        ("other", "Other"),
    ],
    "reporter_type": [
        ("victim", "Victim"),
        ("parent", "Parent or guardian"),
        ("relative", "Other relative"),
        ("friend", "Friend"),
        ("school", "Teacher or school staff"),
        ("professional", "Other professional"),
        ("anonymous", "Anonymous"),
    ],
    "channel": [
        ("phone", "Phone"),
        ("chat", "Chat"),
        ("email", "E-mail"),
        ("web_form", "Web form"),
        ("in_person", "In person"),
        ("referral", "Referred by another service"),
    ],
    "closure_reason": [
        ("resolved", "Resolved: no further threat"),
        ("referred", "Referred on, no further helpline action"),
        ("no_contact", "No further contact from the reporter"),
        ("declined", "Support declined"),
        ("duplicate", "Duplicate case"),
        ("out_of_scope", "Not sextortion or exploitation"),
    ],
}

# (code, label, guidance)
STEPS: list[tuple[str, str, str]] = [
    (
        "not_their_fault",
        "Reassured that it is not their fault",
        "Say clearly that the victim is not to blame and help is available.",
    ),
    ("advise_no_pay", "Advised not to pay or send more", "Paying or sending more rarely ends the threats."),
    (
        "no_further_payment",
        "Advised against any further payment",
        "A payment was made: explain that paying again invites more demands.",
    ),
    ("stop_contact", "Advised to stop all contact", "Do not reply to the offender, do not negotiate."),
    (
        "preserve_evidence",
        "Evidence preserved",
        "Screenshots of messages and profiles, handles, links and dates, before blocking.",
    ),
    ("block_offender", "Offender blocked", "Block on every platform, phone number and e-mail address used."),
    (
        "report_platform",
        "Account reported to the platform",
        "Use the platform's reporting tool for the offender's accounts.",
    ),
    (
        "review_privacy",
        "Passwords and privacy settings reviewed",
        "Change passwords, enable two-factor login, make profiles private.",
    ),
    ("report_police", "Reported to police", "Report to the police or the national online-crime centre."),
    (
        "removal_request",
        "Removal requested from the online-safety regulator",
        "For distributed content, ask the regulator (e.g. eSafety) to remove it.",
    ),
    ("hash_submission", "Image hash submitted", "Take It Down for under-18s, StopNCII for adults."),
    (
        "trusted_adult",
        "Parent or trusted adult involved",
        "A child of 12 or under needs a parent or guardian involved.",
    ),
    (
        "wellbeing_support",
        "Wellbeing or mental-health support offered",
        "Offer counselling or a mental-health service.",
    ),
    ("safety_plan", "Safety plan agreed", "Agree what to do if the victim feels unsafe or has thoughts of self-harm."),
    ("follow_up", "Follow-up contact", "Call or message again to check on the victim."),
]

# Reasons for contact of Child Helpline International's data framework: the top-level categories, with the
# subcategories this helpline's cases fall under named on their own. (code, label)
CHI_CATEGORIES: list[tuple[str, str]] = [
    ("violence_ocsea", "Violence: online child sexual abuse and exploitation"),
    ("violence_other", "Violence: other"),
    ("mental_health_suicidal", "Mental health: suicidal thoughts, suicide attempts and self-harm"),
    ("mental_health_other", "Mental health: other"),
    ("sexuality", "Sexuality and sexual health"),
    ("peer_relationships", "Peer relationships"),
    ("family_relationships", "Family relationships"),
    ("education", "School and education"),
    ("physical_health", "Physical health"),
    ("discrimination", "Discrimination and exclusion"),
    ("basic_needs", "Basic needs"),
    ("legal", "Legal matters"),
    ("commercial_exploitation", "Commercial exploitation"),
    ("other", "Other"),
]

# The starting mapping: (CHI category code, vocabulary, term code), and (category code, case fact). Every kind of
# sextortion, sexual content obtained, sexual demand and threat to share it is online sexual exploitation; a case
# with self-harm or suicidal thoughts is counted under mental health too.
CHI_TERM_MAPPINGS: list[tuple[str, str, str]] = [
    *(("violence_ocsea", "sextortion_type", code) for code in ("financial", "sexual", "relational", "other")),
    *(("violence_ocsea", "content_type", code) for code in ("self_image", "self_video", "live_capture", "manipulated")),
    *(("violence_ocsea", "demand", code) for code in ("more_images", "live_acts")),
    *(("violence_ocsea", "threat", code) for code in ("family", "friends", "school_work", "publish", "other")),
]
CHI_FACT_MAPPINGS: list[tuple[str, str]] = [("mental_health_suicidal", "self_harm")]
