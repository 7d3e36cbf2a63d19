package accounts

import "datashare/models"

// mayStartSession is whether u may begin a session, whatever the way of
// signing in. Every user may until users can be deactivated; then this is
// where a deactivated one is turned away.
func mayStartSession(models.User) bool { return true }
