#!/bin/sh
# Installed as /usr/bin/litellm-bridge: the frozen agent lives under /opt.
exec /opt/litellm-bridge/litellm-bridge "$@"
