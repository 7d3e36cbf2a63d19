package web

func (a *app) registerPersonalPages(r router) {}
