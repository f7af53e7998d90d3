"""The sandbox's web app: act as a person in Discord, browse GitHub, the journal and faults."""
