"""Drives the PyPI client `helpscout-mailbox` (unchanged but for its base URL) against
the Help Scout emulator and prints what it saw as JSON, for tests/clients.rs to check.

Usage: python helpscout_mailbox_check.py BASE_URL MAILBOX_ID
(HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET in the environment, as the library wants).
"""

import datetime
import json
import sys

import helpscout_mailbox.client as client_module

base, mailbox = sys.argv[1], int(sys.argv[2])
# The one change: where the API is.
client_module.BASE_URL = base + "/v2"
client_module.TOKEN_URL = client_module.BASE_URL + "/oauth2/token"

client = client_module.HelpScoutClient()
cid = client.create_conversation(
    mailbox, "Printer on fire", "py-client@example.com", "<p>Help, it burns</p>", draft=True, tags=["hardware"]
)
conversation = client.get_conversation(cid)
note = client.add_note(cid, "<p>Internal: VIP</p>")
client.upload_attachment(cid, note, "log.txt", b"hello from the python client\n")
threads = client.conversation_threads(cid)
attachments = [
    (thread["id"], attachment["id"])
    for thread in threads
    for attachment in thread.get("_embedded", {}).get("attachments", [])
]
data = client.attachment_data(cid, attachments[0][1]).decode() if attachments else None
client.add_tags(cid, ["urgent"])
client.close_conversation(cid)
found = [c["id"] for c in client.search_conversations('subject:"Printer on fire"', datetime.date(2000, 1, 1))]
print(
    json.dumps(
        {
            "conversation": cid,
            "subject": conversation.get("subject"),
            "note": note,
            "thread_types": sorted(t.get("type") for t in threads),
            "attachment": data,
            "found": found,
        }
    )
)
