"""Interchange standards: the hub's referrals and directory in the shapes other systems speak.

`fhir/` serves HL7 FHIR R4 in the SDOH Clinical Care referral pattern (Task, ServiceRequest,
Patient, Consent, Organization); `hsds.py` publishes the directory as Open Referral HSDS 3.0.
Each standard only translates: who may read or change what is decided by the features'
operations, exactly as for the JSON API.
"""
