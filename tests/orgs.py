"""Codes of the partners.yaml organisations the tests act as, named once.

PPU (Penajam Paser Utara) sends most referrals; Balikpapan receives them; Bontang and
Kutai Kartanegara (KUKAR) are the units that should see nothing; POLRES is PPU's police
partner; OPERATOR is the province office that runs the hub.
"""

PPU = "uptd-ppa-ppu"
BALIKPAPAN = "uptd-ppa-balikpapan"
BONTANG = "uptd-ppa-bontang"
KUKAR = "uptd-ppa-kukar"
POLRES = "polres-ppu"
OPERATOR = "dp3a-kaltim"
