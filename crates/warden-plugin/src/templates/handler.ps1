# {{NAME}}: {{DESCRIPTION}}
#
# A warden plugin (protocol {{PROTOCOL}}). warden starts this file once per event
# batch, writes two JSON lines on stdin (hello, request) and reads two JSON lines
# from stdout (hello, response). The plugin only *proposes* actions; warden's
# core checks them against the policy and applies them. Logs go to stderr.

# BEGIN AUTO SECTION: PLUGIN
# END AUTO SECTION: PLUGIN

# ---- DEVELOPER AREA: your code goes below; warden never rewrites it. ----
{{DEV_PS1}}
# ---- END OF DEVELOPER AREA ----

# BEGIN AUTO SECTION: PROTOCOL
# END AUTO SECTION: PROTOCOL
