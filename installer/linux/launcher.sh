#!/bin/sh
# Installed as /usr/bin/litellm-bridge: the frozen agent lives under /opt. It starts the
# current per-user update from the user's data folder (versions/V) when there is a newer one
# and updates are not turned off, and watches a version on trial (docs/UPDATES.md): the
# choice is made there, so a version that cannot start at all is still left.
exec /opt/litellm-bridge/litellm-bridge "$@"
