"""A CDS Hooks 2.0 service: guideline advice inside the EHR, as cards.

* :mod:`.cards` — a walk's result as cards (one per recommendation and alert; one ``info`` card
  naming the data to record when facts are missing; a ``warning`` card, never a recommendation,
  when the record's data is invalid) and a checker of the CDS Hooks 2.0 response shape
* :mod:`.auth` — the EHR's JWT bearer tokens (issuer allow-list, JWKS by URL or file, ``jku``
  allow-list, audience, expiry, ``jti`` replay), or a loopback-only dev mode
* :mod:`.store` — SQLite: the cards issued and the feedback on them, as deviation records
  (:class:`engine.decision.ClinicianDecision`)
* :mod:`.app` — the Starlette app: discovery, the ``patient-view`` services (prefetch or the EHR's
  FHIR server; 412 without data), feedback, the full report behind each card's link
* the `guidewalk cds-hooks` command (uvicorn) lives in :mod:`guidewalk.cli.ehr`

Needs the ``fhir`` extra (``pip install 'guidewalk[fhir]'``).
"""
