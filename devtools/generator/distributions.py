"""What synthetic cases look like: the weights of their facts, drawn from tables of N items so that a
weighted draw is one call to random().
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cases.models import Answer, Gender, IdentifierKind, Status

INCIDENTS: dict[str, list[str]] = {
    "financial": [
        "Contacted by a stranger on {platform} who asked for images, then demanded money.",
        "Met someone on {platform} who seemed friendly; after images were shared, payment was demanded.",
        "A new contact on {platform} started a video call, recorded it and then asked for money.",
        "Received threats on {platform} to send intimate images to family and friends unless a payment was made.",
        "Someone on {platform} posing as a young person of the same age asked for images, then asked for money.",
        "Paid once after threats on {platform}; the demands continued and grew.",
    ],
    "sexual": [
        "Contacted on {platform} by someone who asked for more images after the first ones were shared.",
        "Someone on {platform} threatened to publish images unless more content was sent.",
        "A stranger on {platform} offered game credit for images, then demanded more under threat.",
        "Pressured on {platform} to take part in a live video call under threat of sharing images.",
    ],
    "relational": [
        "A former partner threatened to share intimate images on {platform} after the relationship ended.",
        "Someone known from school threatened to share images on {platform} unless the victim met them.",
        "A person known offline used images shared in confidence to make demands on {platform}.",
    ],
    "other": [
        "Received a message on {platform} claiming to hold manipulated images and threatening to share them.",
        "An account on {platform} was taken over and private images were used for threats.",
        "Someone on {platform} sent an altered image and threatened to spread it.",
    ],
}
NOTES = [
    "Reassured the caller that it is not their fault.",
    "Advised not to pay and to stop all contact with the offender.",
    "Helped preserve evidence before blocking the account.",
    "Explained how to report the account to the platform.",
    "Follow-up call: the victim feels safer and has had no new messages.",
    "Explained how to report to the police online-crime unit.",
    "Discussed wellbeing support; the victim agreed to talk to a counsellor.",
    "Parent present during the call; agreed next steps together.",
    "Went through privacy settings and password changes together.",
    "The victim reports new threats on another platform.",
    "Explained how to request removal of images from the platforms.",
]
ADJECTIVES = ["amber", "silver", "quiet", "rapid", "lunar", "cobalt", "maple", "north", "pixel", "velvet"]
NOUNS = ["fox", "river", "stone", "comet", "harbor", "falcon", "meadow", "echo", "cedar", "orbit"]

N = 10_000  # size of the draw tables: table[int(random() * N)] is one weighted draw


def draw_table(weights: Mapping[Any, float]) -> list[Any]:
    """N items in proportion to their weights (largest remainders), for one-random-call draws."""
    items = [(item, weight) for item, weight in weights.items() if weight > 0]
    if not items:
        raise ValueError("Nothing to draw from.")
    total = sum(weight for _, weight in items)
    exact = [weight / total * N for _, weight in items]
    counts = [int(x) for x in exact]
    for index in sorted(range(len(items)), key=lambda i: exact[i] - counts[i], reverse=True)[: N - sum(counts)]:
        counts[index] += 1
    table: list[Any] = []
    for (item, _), count in zip(items, counts, strict=True):
        table.extend([item] * count)
    return table


def answer_table(yes: float, no: float) -> list[str]:
    return draw_table({Answer.YES: yes, Answer.NO: no, Answer.UNKNOWN: max(0.0, 1 - yes - no)})


def _ages(peak: dict[int, float]) -> dict[int, float]:
    """Weights for ages 9 to 45: the given ones, then a tail falling from 25 to 45."""
    weights = {age: 0.3 for age in range(9, 46)}
    for age in range(25, 46):
        weights[age] = max(0.3, 2.4 - 0.1 * (age - 25))
    weights.update(peak)
    return weights


AGES_MALE = _ages(
    {9: 0.4, 10: 0.7, 11: 1.1, 12: 2, 13: 4, 14: 8, 15: 11, 16: 12, 17: 11}
    | {18: 9, 19: 8, 20: 7, 21: 6, 22: 5, 23: 4, 24: 3.5}
)
AGES_FEMALE = _ages(
    {9: 0.5, 10: 1, 11: 1.6, 12: 3, 13: 6, 14: 8, 15: 9, 16: 8, 17: 7}
    | {18: 5, 19: 4.5, 20: 4, 21: 3.5, 22: 3, 23: 2.6, 24: 2.3}
)
GENDERS = {Gender.MALE: 68, Gender.FEMALE: 27, Gender.OTHER: 2, Gender.NOT_STATED: 3}
# Share of financial sextortion by gender, in the first year of the range and added each year after.
FINANCIAL_SHARE = {Gender.MALE: (0.62, 0.07), Gender.FEMALE: (0.22, 0.05), "": (0.45, 0.06)}
FINANCIAL_SHARE_MAX = 0.9
OTHER_TYPES = {"sexual": 70, "relational": 20, "other": 10}
# Hour of first contact (local time, from midnight): mostly the evening, little at night.
HOURS = dict(enumerate([6, 4, 2, 1, 1, 1, 1, 1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 11, 9]))
# First-contact platform by age band: child (12 or under), young (13 to 24 or unknown minor), adult.
FIRST_PLATFORMS = {
    "child": {"roblox": 18, "online_game": 12, "tiktok": 18, "snapchat": 20, "instagram": 14, "discord": 8}
    | {"whatsapp": 5, "other": 5},
    "young": {"instagram": 40, "snapchat": 28, "tiktok": 6, "facebook": 4, "discord": 4, "whatsapp": 3}
    | {"video_chat": 3, "x": 2, "dating_app": 3, "online_game": 2, "telegram": 1, "roblox": 1, "email": 1}
    | {"sms": 1, "other": 1},
    "adult": {"instagram": 34, "facebook": 18, "snapchat": 10, "dating_app": 14, "whatsapp": 6, "x": 4}
    | {"telegram": 3, "video_chat": 3, "tiktok": 3, "email": 3, "sms": 1, "other": 1},
}
MOVED_TO = {"snapchat": 35, "whatsapp": 25, "instagram": 15, "telegram": 15, "discord": 5, "video_chat": 5}
CHANNELS = {"chat": 40, "phone": 25, "web_form": 15, "email": 10, "referral": 7, "in_person": 3}
REPORTERS = {"victim": 70, "parent": 15, "friend": 4, "relative": 3, "school": 3, "professional": 3}
REPORTERS |= {"anonymous": 2}
REPORTERS_CHILD = {"parent": 60, "victim": 20, "school": 8, "relative": 7, "professional": 5}
CLOSURE_REASONS = {"resolved": 45, "no_contact": 25, "referred": 20, "declined": 5, "out_of_scope": 3}
CLOSURE_REASONS |= {"duplicate": 2}
# Multi-valued facts: (code, probability), by sextortion type; the first is used if none is drawn.
APPROACHES = {
    "financial": [
        ("fake_romance", 0.55),
        ("flattery", 0.35),
        ("live_capture", 0.15),
        ("ai_generated", 0.08),
        ("hacked_account", 0.05),
        ("offer", 0.05),
    ],
    "sexual": [
        ("flattery", 0.5),
        ("fake_romance", 0.3),
        ("offer", 0.25),
        ("impersonation", 0.15),
        ("hacked_account", 0.05),
    ],
    "relational": [("known_offline", 1.0), ("hacked_account", 0.1)],
    "other": [("hacked_account", 0.4), ("ai_generated", 0.4), ("impersonation", 0.3)],
}
CONTENT = {
    "financial": [("self_image", 0.75), ("self_video", 0.35)],
    "sexual": [("self_image", 0.85), ("self_video", 0.4)],
    "relational": [("self_image", 0.7), ("self_video", 0.3)],
    "other": [("manipulated", 0.5)],
}
DEMANDS = {
    "financial": [("money", 1.0), ("more_images", 0.1)],
    "sexual": [("more_images", 0.85), ("live_acts", 0.3), ("meeting", 0.07)],
    "relational": [("other", 0.4), ("more_images", 0.4), ("meeting", 0.3)],
    "other": [("other", 0.6), ("money", 0.2), ("more_images", 0.2)],
}
THREATS = {
    "financial": [("friends", 0.7), ("family", 0.65), ("publish", 0.3), ("school_work", 0.25)],
    "sexual": [("friends", 0.6), ("publish", 0.45), ("family", 0.4), ("school_work", 0.2)],
    "relational": [("friends", 0.6), ("publish", 0.4), ("school_work", 0.3), ("family", 0.2)],
    "other": [("publish", 0.6), ("friends", 0.4), ("family", 0.3), ("other", 0.1)],
}
PAYMENT_METHODS = {"payment_app": 35, "gift_card": 25, "crypto": 15, "bank_transfer": 12, "game_currency": 8}
PAYMENT_METHODS |= {"other": 5}
PAYMENT_METHODS_MINOR = {"gift_card": 40, "game_currency": 25, "payment_app": 25, "crypto": 5, "other": 5}
AMOUNTS = {"under_50": 30, "50_249": 35, "250_999": 20, "1000_plus": 8, "unknown": 7}
OFFENDER_COUNTRIES = {
    "financial": {"": 50, "NG": 20, "CI": 10, "PH": 7, "GH": 5, "US": 3, "home": 5},
    "sexual": {"": 60, "home": 25, "US": 5, "GB": 5, "PH": 5},
    "relational": {"home": 90, "": 10},
    "other": {"": 70, "home": 20, "US": 10},
}
IDENTIFIER_KINDS = {
    IdentifierKind.USERNAME: 60,
    IdentifierKind.PAYMENT_HANDLE: 20,
    IdentifierKind.PROFILE_LINK: 10,
    IdentifierKind.EMAIL: 10,
}
IDENTIFIER_SHARE = 0.3
# Offender identifiers are drawn from a pool of count / 3, skewed so that most appear once, some in a
# few cases and a few in a hundred or so (a network reusing its accounts): index = size * random() ** skew.
POOL_SKEW = 1.6
# Status by age of the case in days: up to 7, 30, 90, older.
STATUS_AGES = [7, 30, 90]
STATUSES: list[dict[str, float]] = [
    {Status.NEW: 15, Status.OPEN: 60, Status.WAITING: 10, Status.CLOSED: 15},
    {Status.NEW: 3, Status.OPEN: 35, Status.WAITING: 20, Status.CLOSED: 40, Status.REOPENED: 2},
    {Status.OPEN: 12, Status.WAITING: 10, Status.CLOSED: 75, Status.REOPENED: 3},
    {Status.OPEN: 1.5, Status.WAITING: 2, Status.CLOSED: 96, Status.REOPENED: 0.5},
]

# Times are whole seconds since the epoch until a row is written.
DAY = 86_400


def stamp_time(stamp: int) -> datetime:
    """Seconds since the epoch as an aware datetime."""
    return datetime.fromtimestamp(stamp, UTC)
