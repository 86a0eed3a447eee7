"""The demo Mayor's Secretariat. Every person here is fictional; the office line is the real
switchboard number published by the district."""

DOMAIN = "belvaros-lipotvaros.example"
DEMO_LOGIN = f"referens@{DOMAIN}"

MUNICIPALITY = {
    "name": "Budapest Főváros V. kerület Belváros-Lipótváros Önkormányzata",
    "short_name": "Budapest V. kerület (Belváros-Lipótváros)",
    "office": "Polgármesteri Titkárság",
    "office_phone": "+36 1 872 7211",
}

# role: what the person may do in Riadó; position: their title in the office.
SECRETARIAT = (
    {"email": f"referens@{DOMAIN}", "name": "Horváth Bence", "position": "Közbiztonsági referens", "role": "admin"},
    {"email": f"polgarmester@{DOMAIN}", "name": "Dr. Szabó Katalin", "position": "Polgármester", "role": "officer"},
    {"email": f"alpolgarmester1@{DOMAIN}", "name": "Kiss Gábor", "position": "Alpolgármester", "role": "viewer"},
    {"email": f"alpolgarmester2@{DOMAIN}", "name": "Tóth Judit", "position": "Alpolgármester", "role": "viewer"},
    {"email": f"aljegyzo@{DOMAIN}", "name": "Dr. Farkas Péter", "position": "Aljegyző", "role": "officer"},
    {"email": f"sajto@{DOMAIN}", "name": "Németh Anna", "position": "Sajtóreferens", "role": "press"},
    {"email": f"asszisztens1@{DOMAIN}", "name": "Varga Eszter", "position": "Titkársági asszisztens", "role": "officer"},
    {"email": f"asszisztens2@{DOMAIN}", "name": "Balogh Márton", "position": "Titkársági asszisztens", "role": "officer"},
)
