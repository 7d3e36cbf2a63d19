package web

func (a *app) registerRequestPages(r router) {}
