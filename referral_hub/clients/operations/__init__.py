"""The rules of clients, consent and disclosure, one module per concern: one place for API,
portal, CLI and referrals; callers use this package's names.

    access        who acts on clients: the rights to change and read them, the client reached
    numbers       readable numbers: a unit's short code, the per-unit, per-year series
    minimisation  what of a client a party sees (client_view), what its record can give
    disclosures   every read or share of a client's personal data, logged and audited
    matching      possible duplicates (NIK, a close name with a fitting age and region) and
                  the name search, through the keyed name index
    records       registering a client, finding one, the owner's full read
    givers        who may give consent, and a supervisor's clearance of a giver
    consent       recording, reading and withdrawing consent
    sharing       what a consent allows a referral (consent_problems)
    keys          key rotation: re-encrypting what is still under an older key
    rights        the client's UU PDP rights: export, rectification, erasure (key destroyed)

Each module imports only from those above it in this list (and never another module's
`_private` helpers), so they read top to bottom.
"""

from referral_hub.clients.operations.access import (
    CLIENT_ERASED,
    NOT_A_UPTD,
    find_client_of,
    get_client_of,
    may_read_clients,
    require_not_erased,
    require_uptd,
)
from referral_hub.clients.operations.consent import (
    CONSENT_ALREADY_WITHDRAWN,
    MAX_CONSENT_YEARS,
    ConsentWithoutGiver,
    consents_query,
    consents_seen_by,
    get_consent_of,
    record_consent,
    record_consent_reads,
    require_consent_for,
    withdraw_consent,
)
from referral_hub.clients.operations.disclosures import disclosures_query, record_disclosure
from referral_hub.clients.operations.givers import (
    CONSENT_GIVER_NEEDS_CLEARANCE,
    CONSENT_GIVER_NOT_ALLOWED,
)
from referral_hub.clients.operations.keys import rotate_keys_batch
from referral_hub.clients.operations.matching import (
    Match,
    index_client_name,
    name_search_clause,
    possible_matches,
    record_name_reads,
)
from referral_hub.clients.operations.minimisation import (
    CLIENT_CATEGORY_VIEWS,
    GUARDIAN_IS_ALLEGED_PERPETRATOR,
    NOT_ON_RECORD,
    client_view,
    demographics,
    guardian_is_alleged_perpetrator,
    held_categories,
    record_refusal,
)
from referral_hub.clients.operations.numbers import (
    next_number,
    organization_short_code,
    take_number,
)
from referral_hub.clients.operations.records import (
    CLIENT_ALREADY_REGISTERED,
    CLIENT_CODE_PREFIX,
    clients_query,
    find_by_nik,
    read_client,
    register_client,
)
from referral_hub.clients.operations.rights import (
    CLIENT_HAS_OPEN_WORK,
    check_if_match,
    erase_client,
    etag_of,
    export_client,
    rectify_client,
)
from referral_hub.clients.operations.sharing import (
    CHILD_ASSENT_REFUSED,
    CONSENT_EXPIRED,
    CONSENT_NOT_COVERING,
    CONSENT_WITHDRAWN,
    DATA_CATEGORY_NOT_ALLOWED,
    assent_blocks_sharing,
    consent_allows,
    consent_problems,
    require_consent_covers,
)

__all__ = [
    "CHILD_ASSENT_REFUSED",
    "CLIENT_ALREADY_REGISTERED",
    "CLIENT_CATEGORY_VIEWS",
    "CLIENT_CODE_PREFIX",
    "CLIENT_ERASED",
    "CLIENT_HAS_OPEN_WORK",
    "CONSENT_ALREADY_WITHDRAWN",
    "CONSENT_EXPIRED",
    "CONSENT_GIVER_NEEDS_CLEARANCE",
    "CONSENT_GIVER_NOT_ALLOWED",
    "CONSENT_NOT_COVERING",
    "CONSENT_WITHDRAWN",
    "DATA_CATEGORY_NOT_ALLOWED",
    "GUARDIAN_IS_ALLEGED_PERPETRATOR",
    "MAX_CONSENT_YEARS",
    "NOT_A_UPTD",
    "NOT_ON_RECORD",
    "ConsentWithoutGiver",
    "Match",
    "assent_blocks_sharing",
    "check_if_match",
    "client_view",
    "clients_query",
    "consent_allows",
    "consent_problems",
    "consents_query",
    "consents_seen_by",
    "demographics",
    "disclosures_query",
    "erase_client",
    "etag_of",
    "export_client",
    "find_by_nik",
    "find_client_of",
    "get_client_of",
    "get_consent_of",
    "guardian_is_alleged_perpetrator",
    "held_categories",
    "index_client_name",
    "may_read_clients",
    "name_search_clause",
    "next_number",
    "organization_short_code",
    "possible_matches",
    "read_client",
    "record_consent",
    "record_consent_reads",
    "record_disclosure",
    "record_name_reads",
    "record_refusal",
    "rectify_client",
    "register_client",
    "require_consent_covers",
    "require_consent_for",
    "require_not_erased",
    "require_uptd",
    "rotate_keys_batch",
    "take_number",
    "withdraw_consent",
]
