package web

func (a *app) registerReportPages(r router) {}
