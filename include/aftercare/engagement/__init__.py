"""The engagement stage: what happened after each send, loaded back from the providers into
``engagement.delivery_events`` and ``engagement.responses`` (`loads`), and the follow-ups it asks
for and the notes of the touchpoints sent made in the ATS (`followups`). Its task bodies:
`aftercare.tasks.engagement`."""
