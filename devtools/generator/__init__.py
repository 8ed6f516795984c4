"""Synthetic, anonymised cases in bulk, for demonstrations and load tests.

Nothing generated describes a real person: victims are an age band, a gender and a
region; incident descriptions and notes come from a small set of neutral template
sentences; offender handles are made-up ``demo_...`` names on reserved example domains.

The distributions follow what helplines report: boys of 14 to 17 and young men are the
most frequent victims, Instagram and Snapchat the usual first contact, and financial
sextortion (money, usually by gift card, payment app or crypto) a growing share year
after year. The facts of a case agree with each other (a financial case demands money,
a relational one involves someone known offline) and its response steps are exactly
those of the playbook.

About a third of the cases are referred to agencies (police, a regulator, the platform, a
hash-matching or support service), some to two or three. Each referral runs the life the
referral services would give it, with delays drawn per kind of agency: drafted, sent, answered
after hours or weeks (some never), then completed with an outcome, declined or withdrawn; its
times stop at now, so recent referrals are mostly still under way. Takedown and platform
referrals list the content to remove, settled item by item. Sending marks the response step it
stands for as done, as the services do.

Rows go in with PostgreSQL COPY, one transaction per batch, so a million cases with
their contacts, steps, platforms, identifiers, notes, timeline and referrals take minutes.
"""

from devtools.generator.batches import BATCH_SIZE, generate_cases

__all__ = ["BATCH_SIZE", "generate_cases"]
