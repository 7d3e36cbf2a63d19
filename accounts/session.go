package accounts

import "datashare/models"

// mayStartSession is whether u may begin a session, whatever the way of
// signing in (password or single sign-on): a deactivated user may not.
func mayStartSession(u models.User) bool { return u.Active() }
