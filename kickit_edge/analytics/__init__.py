"""Analytics over the event log: user records, version adoption, and the users a policy reaches.

Reads event files and snapshots; never imports the runtime or the admin API.
"""
