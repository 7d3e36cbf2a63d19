package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/models"
	"datashare/sla"
	"datashare/workflow"
)

// requestView is one request with what the viewer may do to it now.
type requestView struct {
	Page
	R        *models.Request
	SLA      sla.View
	DueBy    string // a draft: when it would be due if submitted now
	History  []models.Transition
	Choices  []choice
	CanEdit  bool
	Comment  fieldView
	Problems []problem
	Notice   string // why the page was shown again instead of the action's result
}

// choice is one action button.
type choice struct {
	Action, Label string
	Primary       bool
	Danger        bool
}

// loadRequest fills the page of request id as the viewer sees it now.
func (a *app) loadRequest(c echo.Context, id int64) (*requestView, error) {
	v := viewer(c)
	ctx := c.Request().Context()
	r, err := a.Workflow.Get(ctx, v.Actor, id)
	if err != nil {
		return nil, err
	}
	hist, err := a.Workflow.History(ctx, v.Actor, id)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	view := &requestView{Page: Page{Nav: "requests"}, R: r, SLA: a.SLA.Evaluate(r, now), History: hist,
		CanEdit: workflow.CanEdit(workflow.FactsOf(r), v.Actor) == nil}
	if r.SubmittedAt == nil {
		view.DueBy = a.when(a.SLA.DueIfSubmitted(now))
	}
	var needing []string
	for i, ch := range workflow.Allowed(workflow.FactsOf(r), v.Actor) {
		label := actionLabel(string(ch.Action))
		view.Choices = append(view.Choices, choice{Action: string(ch.Action), Label: label, Primary: i == 0,
			Danger: ch.Action == workflow.Reject || ch.Action == workflow.Withdraw})
		if ch.CommentNeeded {
			needing = append(needing, strings.ToLower(label))
		}
	}
	view.Comment = fieldView{ID: "comment", Name: "comment", Label: "Comment", Multiline: true, MaxLength: 5000}
	if len(needing) > 0 {
		view.Comment.Hint = "Required to " + orList(needing) + "."
	}
	return view, nil
}

func (a *app) handleRequestShow(c echo.Context) error {
	id, err := requestID(c)
	if err != nil {
		return err
	}
	view, err := a.loadRequest(c, id)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "request", view)
}

// done is the flash after each action.
var done = map[workflow.Action]string{
	workflow.Submit:               "Request submitted",
	workflow.Approve:              "Your approval is recorded",
	workflow.Reject:               "Request rejected",
	workflow.RequestClarification: "Clarification asked for",
	workflow.Respond:              "Response sent",
	workflow.Fulfil:               "Marked as shared",
	workflow.Withdraw:             "Request withdrawn",
}

const staleNotice = "Someone acted on this request while you were reading it; here it is as it is now. Nothing was applied."

func (a *app) handleTransition(c echo.Context) error {
	id, err := requestID(c)
	if err != nil {
		return err
	}
	act, err := workflow.ParseAction(c.FormValue("action"))
	if err != nil {
		return err
	}
	version, err := strconv.Atoi(c.FormValue("version"))
	if err != nil || version < 1 {
		return errNoVersion
	}
	comment := c.FormValue("comment")
	_, err = a.Workflow.Apply(c.Request().Context(), viewer(c).Actor, id, act, comment, version)
	if err != nil {
		return a.refuseAction(c, id, act, comment, err)
	}
	a.flash(c, done[act])
	return seeOther(c, "/requests/"+strconv.FormatInt(id, 10))
}

// refuseAction shows the request again as it is now, saying why act was
// not applied: someone acted meanwhile (409), the state no longer allows
// it (409), or the comment is missing or too long (422, kept in the form).
// Any other refusal is an error page.
func (a *app) refuseAction(c echo.Context, id int64, act workflow.Action, comment string, err error) error {
	status, notice := 0, ""
	switch {
	case errs.Is(err, errs.PreconditionFailed):
		status, notice = http.StatusConflict, staleNotice
	case errs.Is(err, errs.Conflict):
		var e *errs.Error
		msg := "This cannot be done now"
		if errors.As(err, &e) {
			msg = sentence(e.Message)
		}
		status, notice = http.StatusConflict, msg+". Here is the request as it is now. Nothing was applied."
	case len(errs.Fields(err)) > 0:
		status = http.StatusUnprocessableEntity
	default:
		return err
	}
	view, lerr := a.loadRequest(c, id)
	if lerr != nil {
		return lerr
	}
	view.Notice = notice
	if status == http.StatusUnprocessableEntity {
		view.Comment.Value = comment
		ps, _ := markFields(err, map[string]*fieldView{"comment": &view.Comment}, "comment")
		for i := range ps {
			// The service speaks of actions by their API names.
			ps[i].Message = strings.Replace(ps[i].Message, string(act), strings.ToLower(actionLabel(string(act))), 1)
		}
		view.Comment.Error = ps[0].Message
		view.Problems = ps
	}
	return a.render(c, status, "request", view)
}

// orList writes "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
