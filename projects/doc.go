// Package projects owns cross-agency projects: a project groups requests of
// the lead agency and its partners, and its clock measures the Digital
// Government Blueprint's KPI as stated — the time to combine and share the
// data of the whole project — beside the clock of each request.
//
// Compute is the project rule, a pure function of the requests' histories,
// the working calendar and the targets; Service creates, reads, lists and
// changes projects and says who may see and change them.
package projects
