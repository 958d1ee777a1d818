"""The outside services a message goes through, each behind one small client speaking its real
API (the sandbox serves the same APIs locally): SendGrid or an SMTP relay (email), Twilio (sms),
the video channel's pages (our own, registered at the candidates' preferences service; or
Sendspark's personalised renders, asked for ahead), a Trustpilot-style review platform
(invitation links).
Recruiter call tasks go through the ATS client (`aftercare.ats`).

Each kind of provider is an interface in `aftercare.providers.base` that dispatch and
engagement use; `aftercare.providers.factory.Providers` builds the clients from the task's
connections. Every HTTP client calls through `aftercare.http.Transport`: a send whose answer
was lost raises `Ambiguous`, and the caller looks the message up before it sends again.
"""
