"""Small, fixed vocabularies and the string-variant functions that make one real-world entity look
different in each source system. Own word lists (no Faker) keep output byte-identical across versions."""
from __future__ import annotations

import numpy as np

COUNTRIES = ["DE", "FR", "NL", "GB", "US"]
COUNTRY_WEIGHTS = [0.55, 0.12, 0.12, 0.11, 0.10]
CURRENCY = {"DE": "EUR", "FR": "EUR", "NL": "EUR", "GB": "GBP", "US": "USD"}
FX_FROM_EUR = {"EUR": 1.0, "GBP": 0.86, "USD": 1.09}
TAX_RATE = {"DE": 0.19, "FR": 0.20, "NL": 0.21, "GB": 0.20, "US": 0.0}
CALLING = {"DE": "49", "FR": "33", "NL": "31", "GB": "44", "US": "1"}

# city, postal code, area code (national, without trunk prefix)
CITIES: dict[str, list[tuple[str, str, str]]] = {
    "DE": [("Berlin", "10115", "30"), ("Hamburg", "20095", "40"), ("München", "80331", "89"),
           ("Köln", "50667", "221"), ("Frankfurt am Main", "60311", "69"), ("Stuttgart", "70173", "711"),
           ("Düsseldorf", "40213", "211"), ("Leipzig", "04109", "341"), ("Hannover", "30159", "511"),
           ("Nürnberg", "90402", "911"), ("Bremen", "28195", "421"), ("Dresden", "01067", "351")],
    "FR": [("Paris", "75001", "1"), ("Lyon", "69001", "4"), ("Marseille", "13001", "4"),
           ("Toulouse", "31000", "5"), ("Lille", "59000", "3"), ("Nantes", "44000", "2"), ("Bordeaux", "33000", "5")],
    "NL": [("Amsterdam", "1012 AB", "20"), ("Rotterdam", "3011 BD", "10"), ("Utrecht", "3511 LX", "30"),
           ("Den Haag", "2511 CV", "70"), ("Eindhoven", "5611 AZ", "40")],
    "GB": [("London", "EC1A 1BB", "20"), ("Manchester", "M1 1AE", "161"), ("Birmingham", "B1 1BB", "121"),
           ("Leeds", "LS1 4DY", "113"), ("Bristol", "BS1 4ST", "117")],
    "US": [("New York", "10001", "212"), ("Chicago", "60601", "312"), ("Boston", "02108", "617"),
           ("Austin", "73301", "512"), ("Seattle", "98101", "206")],
}
STREET_BASES = {
    "DE": ["Haupt", "Bahnhof", "Garten", "Industrie", "Schiller", "Goethe", "Linden", "Berliner", "Wald", "Mühlen",
           "Kirch", "Friedrich", "Hafen", "Markt", "Rosen"],
    "FR": ["de la Paix", "Victor Hugo", "de la République", "du Commerce", "Jean Jaurès", "des Lilas", "Pasteur",
           "de Verdun", "Gambetta", "du Port"],
    "NL": ["Keizers", "Stations", "Kerk", "Dorps", "Molen", "Haven", "Prinsen", "Markt"],
    "GB": ["High", "Station", "Church", "Victoria", "Park", "Mill", "King", "Queen", "London", "Market"],
    "US": ["Main", "Oak", "Maple", "Washington", "Lake", "Park", "Cedar", "Elm", "Pine", "Market"],
}
# (full suffix, abbreviated suffix) per country: the same address keyed in two systems.
STREET_KINDS = {
    "DE": [("straße", "str."), ("weg", "weg"), ("allee", "allee"), ("platz", "pl.")],
    "FR": [("rue", "r."), ("avenue", "av."), ("boulevard", "bd")],
    "NL": [("straat", "str."), ("weg", "wg."), ("gracht", "gr.")],
    "GB": [("Street", "St"), ("Road", "Rd"), ("Lane", "Ln")],
    "US": [("Street", "St."), ("Avenue", "Ave"), ("Boulevard", "Blvd")],
}
FIRST_NAMES = {
    "DE": ["Anna", "Lukas", "Julia", "Felix", "Sophie", "Jonas", "Laura", "Maximilian", "Lea", "Paul", "Katrin", "Jörg"],
    "FR": ["Camille", "Louis", "Chloé", "Hugo", "Léa", "Jules", "Manon", "Lucas", "Emma", "Théo"],
    "NL": ["Daan", "Sanne", "Bram", "Lotte", "Ruben", "Femke", "Joost", "Anouk"],
    "GB": ["Oliver", "Amelia", "Harry", "Isla", "George", "Emily", "Jack", "Sophie"],
    "US": ["James", "Olivia", "Michael", "Emma", "William", "Ava", "David", "Mia", "Jane", "John"],
}
LAST_NAMES = {
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch", "Braun",
           "Krüger"],
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"],
    "NL": ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer"],
    "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas"],
    "US": ["Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Doe", "Clark"],
}
COMPANY_STEMS = [
    "Acme", "Nordlicht", "Bergmann", "Sonnenschein", "Blauwal", "Falkenstein", "Rheintal", "Alpina", "Lindenhof",
    "Westwind", "Ostsee", "Silberfisch", "Eichenwald", "Kranich", "Morgenrot", "Steinbach", "Grünfeld", "Adler",
    "Helios", "Orion", "Vega", "Polaris", "Atlas", "Zenit", "Merkur", "Saturn", "Quadrant", "Vektor", "Prisma",
    "Kompass", "Leuchtturm", "Hansa", "Brückner", "Wolters", "Hartmann", "Lorenz", "Seidel", "Vogt", "Keller",
    "Lefèvre", "Bonnet", "Garnier", "Chevalier", "Rousseau", "Fontaine", "Mercier", "Blanchard", "Gauthier",
    "Van Dijk", "Hendriks", "Dekker", "Verhoeven", "Mulder", "Kuipers", "Brouwer", "Vos",
    "Ashford", "Bramley", "Carrington", "Denholm", "Elmswood", "Fairbanks", "Greystone", "Harlow", "Kingsley",
    "Redwood", "Bluebird", "Summit", "Pioneer", "Liberty", "Evergreen", "Silverline", "Ironclad", "Northstar",
    "Tellus", "Nimbus", "Cobalt", "Argon", "Basalt", "Cirrus", "Delta", "Ember", "Fjord", "Granit", "Horizon",
    "Isar", "Jura", "Kobalt", "Lumen", "Magnet", "Nova", "Opal", "Pegasus", "Quarz", "Rubin", "Saphir", "Topas",
]
SECTOR_WORDS = ["Technik", "Logistik", "Bau", "Handel", "Systems", "Industries", "Solutions", "Foods", "Metall",
                "Elektro", "Werkzeuge", "Services", "Trading", "Manufacturing", "Supply", "Automation", "Medical",
                "Energy", "Verpackung", "Holz"]
LEGAL_FORMS = {"DE": ["GmbH", "GmbH", "AG", "KG", "GmbH & Co. KG"], "FR": ["SARL", "SAS", "SA"],
               "NL": ["B.V.", "B.V.", "N.V."], "GB": ["Ltd", "Ltd", "PLC"], "US": ["Inc.", "LLC", "Corp."]}
INDUSTRIES = ["Manufacturing", "Construction", "Retail", "Wholesale", "Healthcare", "Hospitality", "Automotive",
              "Energy", "Logistics", "Public Sector", "Education", "Food & Beverage"]
TITLES = ["Purchasing Manager", "Buyer", "CEO", "Head of Operations", "Office Manager", "Procurement Lead",
          "Plant Manager", "Accounts Payable", "Technical Lead", "Assistant"]
SEGMENTS = ["enterprise", "mid_market", "small_business"]

# Product categories: (name, SKU prefix, nouns, base price EUR)
PRODUCT_CATEGORIES = [
    ("Power Tools", "PWR", ["Cordless Drill", "Angle Grinder", "Impact Driver", "Jigsaw", "Circular Saw", "Heat Gun"], 120.0),
    ("Hand Tools", "HND", ["Torque Wrench", "Screwdriver Set", "Pliers Set", "Hammer", "Socket Set", "Utility Knife"], 35.0),
    ("Fasteners", "FST", ["Hex Bolt Pack", "Wood Screw Box", "Wall Anchor Kit", "Rivet Pack", "Washer Assortment"], 12.0),
    ("Safety", "SAF", ["Safety Gloves", "Safety Glasses", "Ear Defenders", "Hard Hat", "Hi-Vis Vest", "Respirator Mask"], 18.0),
    ("Electrical", "ELC", ["Extension Cable", "LED Work Light", "Cable Reel", "Multimeter", "Plug Adapter", "Junction Box"],
     40.0),
    ("Packaging", "PKG", ["Packing Tape", "Stretch Film", "Cardboard Box", "Bubble Wrap Roll", "Pallet Strap"], 9.0),
    ("Workshop", "WRK", ["Workbench", "Tool Cabinet", "Parts Bin", "Shelving Unit", "Vice"], 220.0),
]
PRODUCT_ADJ = ["Pro", "Compact", "Heavy Duty", "Eco", "Max", "Lite", "Ultra", "Classic", "XL", "Flex"]
LOCATIONS = [("LOC-BER", "Berlin DC"), ("LOC-HAM", "Hamburg DC"), ("LOC-MUC", "Munich DC")]

# Public mailbox providers small firms use instead of a domain of their own. Several companies then share a
# domain; some of these are deliberately not in the matcher's list of public providers (it must notice).
MAILBOX_DOMAINS = {"DE": ["gmx.de", "web.de", "posteo.de"], "FR": ["orange.fr", "laposte.net", "sfr.fr"],
                   "NL": ["ziggo.nl", "kpnmail.nl"], "GB": ["gmail.com", "btinternet.com"],
                   "US": ["gmail.com", "outlook.com", "comcast.net"]}
# Trades of person-named sole traders ('Jörg Krüger Elektro'); sometimes the name alone.
SOLE_TRADES = {"DE": ["Elektro", "Malerbetrieb", "Haustechnik", "Transporte", "Holzbau", "Metallbau"],
               "FR": ["Plomberie", "Menuiserie", "Transports", "Conseil"],
               "NL": ["Installatietechniek", "Klusbedrijf", "Transport", "Advies"],
               "GB": ["Plumbing", "Joinery", "Electrical", "Consulting"],
               "US": ["Plumbing", "Electric", "Hauling", "Consulting"]}
SOLE_LEGAL = {"DE": ["", "", "e.K."], "FR": ["", "EI"], "NL": ["", "VOF"], "GB": ["", ""], "US": ["", "LLC"]}


def slug(name: str) -> str:
    out = name.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("é", "e"), ("è", "e"), ("&", "")):
        out = out.replace(a, b)
    return "".join(ch for ch in out if ch.isalnum())


def typo(rng: np.random.Generator, s: str) -> str:
    """One keyboard slip: swap two neighbouring letters (keeps length, like real typos)."""
    idx = [i for i in range(len(s) - 1) if s[i].isalpha() and s[i + 1].isalpha()]
    if not idx:
        return s
    i = idx[int(rng.integers(len(idx)))]
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def name_variant(rng: np.random.Generator, stem: str, full: str, legal: str) -> str:
    """A way another clerk might key the same company name."""
    k = int(rng.integers(8))
    if k == 0:
        return full.upper()
    if k == 1:
        return stem + (" " + full[len(stem):].strip().split(" ")[0] if " " in full[len(stem):].strip() else "")
    if k == 2:
        return full.replace(legal, legal.replace(".", "").capitalize() + ".") if legal else full + "."
    if k == 3:
        return typo(rng, full)
    if k == 4:
        return full.replace(" & ", " und ").replace(" ", "  ", 1)
    if k == 5:
        return full.lower().title()
    if k == 6:
        return full.replace(legal, "").strip() if legal else full
    return full + " "  # trailing space survives in exports more often than one would hope


def phone_formats(country: str, area: str, number: str) -> list[str]:
    """The same phone number as different people type it (all normalise to one E.164)."""
    cc = CALLING[country]
    if country == "US":
        a, n1, n2 = area, number[:3], number[3:]
        return [f"+1 {a}-{n1}-{n2}", f"({a}) {n1}-{n2}", f"{a}.{n1}.{n2}", f"001{a}{n1}{n2}", f"+1{a}{n1}{n2}"]
    if country == "FR":
        full = area + number
        pairs = " ".join(full[i:i + 2] for i in range(1, len(full), 2))
        return [f"+33 {full[0]} {pairs}", f"0{full[0]} {pairs}", f"0033{full}", f"+33{full}", f"0{full}"]
    return [f"+{cc} {area} {number}", f"0{area}-{number}", f"00{cc}{area}{number}", f"(0{area}) {number}",
            f"+{cc}{area}{number}"]


def vat_id(rng: np.random.Generator, country: str) -> str:
    digits = "".join(str(int(d)) for d in rng.integers(0, 10, 9))
    if country == "FR":
        return f"FR{int(rng.integers(10, 99))}{digits}"
    if country == "NL":
        return f"NL{digits}B01"
    if country == "US":
        return f"{digits[:2]}-{digits[2:]}{int(rng.integers(0, 10))}"
    return f"{country}{digits}"


def vat_variant(rng: np.random.Generator, vat: str) -> str:
    """'DE123456789' -> 'DE 123 456 789' / lower case / without country prefix."""
    k = int(rng.integers(4))
    if k == 0 and vat[:2].isalpha():
        body = vat[2:]
        return vat[:2] + " " + " ".join(body[i:i + 3] for i in range(0, len(body), 3))
    if k == 1:
        return vat.lower()
    if k == 2 and vat[:2].isalpha():
        return vat[2:]
    return vat.replace("-", "")


def vat_typo(rng: np.random.Generator, vat: str) -> str:
    """One keying slip in a VAT id: two neighbouring digits swapped, or one digit mistyped."""
    digits = [i for i, ch in enumerate(vat) if ch.isdigit()]
    if len(digits) < 2:
        return vat
    if rng.random() < 0.5:
        pairs = [i for i in digits if i + 1 < len(vat) and vat[i + 1].isdigit() and vat[i] != vat[i + 1]]
        if pairs:
            i = pairs[int(rng.integers(len(pairs)))]
            return vat[:i] + vat[i + 1] + vat[i] + vat[i + 2:]
    i = digits[int(rng.integers(len(digits)))]
    new = str((int(vat[i]) + int(rng.integers(1, 10))) % 10)
    return vat[:i] + new + vat[i + 1:]


def email_variant(rng: np.random.Generator, email: str) -> str:
    k = int(rng.integers(5))
    if k == 0:
        return email.upper()
    if k == 1:
        return " " + email
    if k == 2:
        return email[0].upper() + email[1:]
    return email


def street_for(rng: np.random.Generator, country: str) -> tuple[str, str]:
    """(street as written in full, same street abbreviated)."""
    base = STREET_BASES[country][int(rng.integers(len(STREET_BASES[country])))]
    full_k, abbr_k = STREET_KINDS[country][int(rng.integers(len(STREET_KINDS[country])))]
    no = int(rng.integers(1, 180))
    if country == "DE":
        return f"{base}{full_k} {no}", f"{base}{abbr_k} {no}"
    if country == "NL":
        return f"{base}{full_k} {no}", f"{base}{abbr_k} {no}"
    if country == "FR":
        return f"{no} {full_k} {base}", f"{no} {abbr_k} {base}"
    return f"{no} {base} {full_k}", f"{no} {base} {abbr_k}"
