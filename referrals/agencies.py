"""The starting catalogue of agencies that helplines refer to, loaded by a data migration.

Administrators edit it afterwards; codes are stable.
"""

# (code, name, kind, country, expected_response_days, contact_notes)
AGENCIES: list[tuple[str, str, str, str, int, str]] = [
    # Police and law enforcement
    (
        "polizia_postale",
        "Polizia Postale e delle Comunicazioni",
        "police",
        "IT",
        7,
        "Italian state police service for online crime. Reports can be started through the Commissariato di PS Online "
        "at commissariatodips.it; a formal complaint (denuncia) is signed in person at a police office.",
    ),
    (
        "cncpo",
        "CNCPO (Centro nazionale per il contrasto della pedopornografia online)",
        "police",
        "IT",
        7,
        "National centre within the Polizia Postale for online child sexual abuse material; it also keeps the list of "
        "sites that Italian providers must block. Reports reach it through the Commissariato di PS Online.",
    ),
    (
        "accce",
        "ACCCE (Australian Centre to Counter Child Exploitation)",
        "police",
        "AU",
        7,
        "Led by the Australian Federal Police. Online child sexual exploitation, including sextortion of under-18s, "
        "is reported through the online form at accce.gov.au.",
    ),
    (
        "ceop",
        "CEOP (Child Exploitation and Online Protection), National Crime Agency",
        "police",
        "GB",
        7,
        "Command of the UK National Crime Agency. Children and young people, or adults on their behalf, report online "
        "sexual abuse or grooming through the CEOP Safety Centre at ceop.police.uk.",
    ),
    (
        "fbi",
        "FBI",
        "police",
        "US",
        14,
        "Sextortion in the United States can be reported online at tips.fbi.gov or to the FBI's Internet Crime "
        "Complaint Center at ic3.gov.",
    ),
    # Online-safety regulators
    (
        "esafety",
        "eSafety Commissioner",
        "regulator",
        "AU",
        2,
        "Australia's online-safety regulator. Image-based abuse, including sextortion, is reported at esafety.gov.au; "
        "eSafety can ask platforms and websites to remove the material.",
    ),
    # Child protection and reporting hotlines
    (
        "ncmec_cybertipline",
        "NCMEC CyberTipline",
        "child_protection",
        "US",
        5,
        "The US national reporting system for online sexual exploitation of children, including sextortion, run by "
        "the National Center for Missing & Exploited Children. Reports are made online at missingkids.org and are "
        "made available to law enforcement.",
    ),
    (
        "iwf",
        "Internet Watch Foundation",
        "child_protection",
        "GB",
        2,
        "UK charity that assesses reports of online child sexual abuse images and videos and works to have them "
        "removed. Reports can be made anonymously at iwf.org.uk.",
    ),
    (
        "inhope",
        "INHOPE",
        "child_protection",
        "",
        3,
        "International network of hotlines for reporting online child sexual abuse material. Use it to find the "
        "member hotline for a country at inhope.org.",
    ),
    # Hash-matching services
    (
        "take_it_down",
        "Take It Down (NCMEC)",
        "hash_matching",
        "US",
        1,
        "For nude or sexual images taken of someone under 18, submitted by the young person or an adult who was under "
        "18 in the images. The image is hashed on the device and only the hash is shared with participating "
        "platforms. Report at takeitdown.ncmec.org.",
    ),
    (
        "stopncii",
        "StopNCII.org",
        "hash_matching",
        "",
        1,
        "Run by SWGfL for adults aged 18 and over whose intimate images are shared, or threatened to be shared, "
        "without consent. Hashes are made on the device and shared with participating platforms; submit at "
        "stopncii.org.",
    ),
    (
        "report_remove",
        "Report Remove (Childline and IWF)",
        "hash_matching",
        "GB",
        2,
        "For young people under 18 in the UK to report nude images or videos of themselves; the IWF assesses them "
        "and works to have them removed, and Childline offers support. Start at childline.org.uk.",
    ),
    # Support services
    (
        "revenge_porn_helpline",
        "Revenge Porn Helpline",
        "support",
        "GB",
        3,
        "Run by SWGfL for adults aged 18 and over in the UK experiencing intimate image abuse, including sextortion; "
        "it gives advice and helps with removal. Contact through revengepornhelpline.org.uk.",
    ),
    (
        "telefono_azzurro",
        "Telefono Azzurro",
        "support",
        "IT",
        3,
        "Italian child-protection charity offering a free listening and support service for children and young "
        "people, and for adults concerned about them, by phone and chat. Details at azzurro.it.",
    ),
    (
        "kids_helpline",
        "Kids Helpline",
        "support",
        "AU",
        3,
        "Free, confidential counselling for young people aged 5 to 25 in Australia, by phone and webchat, run by "
        "yourtown. Details at kidshelpline.com.au.",
    ),
    # Platforms
    (
        "instagram",
        "Instagram (Meta)",
        "platform",
        "",
        2,
        "Report the account, messages and posts with the in-app reporting tool; further forms are in the Instagram "
        "Help Centre. Instagram takes part in Take It Down and StopNCII.",
    ),
    (
        "facebook",
        "Facebook (Meta)",
        "platform",
        "",
        2,
        "Report the profile, messages and posts with the in-app reporting tool; further forms are in the Facebook "
        "Help Centre. Facebook takes part in Take It Down and StopNCII.",
    ),
    (
        "whatsapp",
        "WhatsApp (Meta)",
        "platform",
        "",
        2,
        "Report or block the contact from the chat; a report sends WhatsApp the most recent messages from that chat.",
    ),
    (
        "snapchat",
        "Snapchat",
        "platform",
        "",
        2,
        "Report the account, Snap or chat in the app by pressing and holding on it; safety concerns can also be "
        "reported through the Snapchat Support site.",
    ),
    (
        "tiktok",
        "TikTok",
        "platform",
        "",
        2,
        "Report the account, video or direct message in the app; a web reporting form is also available at tiktok.com.",
    ),
    (
        "discord",
        "Discord",
        "platform",
        "",
        2,
        "Report the message or user in the app; the Trust & Safety team also takes reports through the request form "
        "on Discord's support site.",
    ),
    (
        "telegram",
        "Telegram",
        "platform",
        "",
        2,
        "Report the message, user, group or channel from within the app; abuse-reporting guidance is published at "
        "telegram.org.",
    ),
    (
        "x",
        "X (Twitter)",
        "platform",
        "",
        2,
        "Report the account or post in the app, or through the forms in the X Help Center, which include forms for "
        "child sexual exploitation and non-consensual nudity.",
    ),
    (
        "roblox",
        "Roblox",
        "platform",
        "",
        2,
        "Report the user or chat with the Report Abuse feature in the experience or on the user's profile; further "
        "safety reports go through Roblox Support.",
    ),
    (
        "google_youtube",
        "Google and YouTube",
        "platform",
        "",
        2,
        "Report videos, comments and channels with YouTube's in-product reporting; the Google Help Centre has a "
        "removal request for non-consensual explicit images in Search results.",
    ),
]
