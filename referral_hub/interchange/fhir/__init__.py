"""HL7 FHIR R4 at /fhir, in the SDOH Clinical Care referral pattern (docs/interchange.md).

    mapping     the code systems and the one table of statuses (hub -> Task, ServiceRequest)
    resources   a referral, a client view, a consent, an organisation as FHIR resources
    operations  reads, the Task search and the Task's status change, through the features'
                operations (get_referral_for, referral_view, act_on_referral)
    outcome     refusals as OperationOutcome
    views       the blueprint: parse, call, render (application/fhir+json)

Each module imports only from those above it in this list.
"""
