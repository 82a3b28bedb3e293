"""Ticket wording. Subjects/bodies depend on the true category and priority (so a text classifier has
signal), with enough template variety and noise that it is not trivially separable."""
from __future__ import annotations

CATEGORIES = ["defect", "delivery", "billing", "how_to", "return", "other"]
BASE_MIX = [0.15, 0.22, 0.16, 0.22, 0.10, 0.15]
INCIDENT_MIX = [0.65, 0.0, 0.0, 0.10, 0.25, 0.0]
PRIORITIES = ["low", "normal", "high", "urgent"]
PRIORITY_MIX = {
    "defect": [0.05, 0.40, 0.40, 0.15], "delivery": [0.10, 0.55, 0.30, 0.05], "billing": [0.20, 0.60, 0.18, 0.02],
    "how_to": [0.45, 0.50, 0.05, 0.0], "return": [0.20, 0.60, 0.18, 0.02], "other": [0.60, 0.38, 0.02, 0.0],
}
MENTION_RATE = {"defect": 0.9, "return": 0.85, "how_to": 0.85, "delivery": 0.3, "billing": 0.1, "other": 0.1}
SUBJECTS = {
    "defect": ["{prod} stopped working", "Defective {prod}", "{prod} broken after a few days", "Problem with {prod}",
               "Faulty unit received", "{prod} not working properly"],
    "delivery": ["Where is my order {so}?", "Delivery delayed", "Shipment not received", "Wrong delivery address",
                 "Tracking number for order {so}", "Partial delivery only"],
    "billing": ["Invoice {ar} incorrect", "Question about our invoice", "Double charged", "Payment reminder sent in error",
                "VAT missing on invoice", "Credit note request"],
    "how_to": ["How do I set up the {prod}?", "Manual for {prod}", "Which accessories fit {prod}?", "How to reset {prod}",
               "Recommended settings", "Question about using {prod}"],
    "return": ["Return request {prod}", "We want to send back the {prod}", "RMA for order {so}", "Refund for returned item",
               "Wrong item delivered, return", "Return label needed"],
    "other": ["Partnership inquiry", "Change of contact person", "Catalogue request", "Feedback on your service",
              "Please update our company address", "Newsletter unsubscribe"],
}
BODIES = {
    "defect": ["the {prod} we bought {symptom}.", "since last week the {prod} {symptom}. We followed the manual.",
               "two of the units (order {so}) {symptom}."],
    "delivery": ["our order {so} was due last week but has not arrived yet.", "the tracking shows no movement for order {so}.",
                 "we only received part of order {so}, the rest is missing."],
    "billing": ["invoice {ar} shows a different price than agreed.", "we were charged twice for order {so}.",
                "the invoice is missing our VAT number, please send a corrected one."],
    "how_to": ["could you explain how to configure the {prod}?", "we cannot find the manual for the {prod}.",
               "what is the recommended maintenance interval for the {prod}?"],
    "return": ["we would like to return the {prod} from order {so}.",
               "the {prod} is not what we ordered, please arrange a return.",
               "please send a return label for the {prod}, we want a refund."],
    "other": ["our contact person has changed, please update your records.", "we would like to receive your new catalogue.",
              "just wanted to say thanks for the quick service last month."],
}
SYMPTOMS = ["does not turn on", "makes a grinding noise", "overheats after a few minutes", "has a cracked housing",
            "stopped charging", "shows an error light"]
URGENCY = {
    "urgent": ["URGENT: our production line is down, we need a replacement immediately.",
               "This is critical for us, please respond today.", "Our customer site is blocked - urgent help needed!"],
    "high": ["Please handle this with priority.", "We need this resolved this week.", "This is affecting our operations."],
    "normal": ["Thanks in advance.", "Kind regards.", "Looking forward to your answer."],
    "low": ["No rush.", "Whenever you have time.", "Just for information."],
}
RESOLUTIONS = {
    "defect": ["Replacement unit shipped", "Repaired under warranty", "Firmware update resolved issue"],
    "delivery": ["Shipment located and delivered", "Reshipped missing items", "Address corrected"],
    "billing": ["Credit note issued", "Corrected invoice sent", "Duplicate charge refunded"],
    "how_to": ["Sent manual link", "Explained configuration by phone", "Linked KB article"],
    "return": ["Return label sent, refund issued", "Exchange arranged", "Return accepted"],
    "other": ["Records updated", "Catalogue sent", "Forwarded to sales"],
}
KB_TITLES = {
    "defect": ["Troubleshooting devices that do not power on", "Warranty claims: what we need from you",
               "Error lights explained"],
    "delivery": ["Tracking your shipment", "Delivery times by country", "Partial deliveries"],
    "billing": ["Understanding your invoice", "Requesting a credit note", "Payment terms and methods"],
    "how_to": ["Getting started with power tools", "Maintenance intervals", "Choosing accessories"],
    "return": ["How to return an item", "Refund timelines", "Exchanges and RMA numbers"],
    "other": ["Updating your account details", "Requesting a catalogue", "Contacting sales"],
}
