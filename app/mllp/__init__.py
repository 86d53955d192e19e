"""The MLLP edge: HL7 v2 messages over TCP (python-hl7's asyncio MLLP server), each handed to
the HL7 intake use case and answered with its ACK on the same connection."""
