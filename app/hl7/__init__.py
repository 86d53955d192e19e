"""HL7 v2 messages as FHIR: pure mapping of messages parsed by python-hl7 to the resources the
ingest path stores, and the acknowledgements the sender gets back. No database, no sockets:
the MLLP listener (`app/mllp`) and the intake use case
(`app/services/intake/hl7_intake.py`) wrap it.
The mappings follow the HL7 Version 2 to FHIR implementation guide (PID to Patient, NK1 to
RelatedPerson, SCH/TQ1/AIS/AIL to Appointment, MRG to Patient.link)."""
