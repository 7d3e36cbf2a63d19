// Package web serves datashare's pages: server-rendered HTML for officers,
// approvers, managers and admins, on the same echo server as the API and
// over the same services, acting as the same workflow.Actor.
//
// Where things are:
//   - web.go (Deps, Mount) and routes.go, which registers every page and
//     the middleware each one runs behind (gzip, session, CSRF, the
//     signed-in user, the per-address limit of sign-in attempts); GET
//     pages answer HEAD too;
//   - session.go (who is signed in, sign-in and sign-out, flash messages,
//     the local ?next= path), security.go (CSRF; the headers of every
//     answer and the check of form fields are the API's, in api/headers.go
//     and api/text.go), static.go (fingerprinted assets);
//   - one file per page or group of pages, each handler parsing its form,
//     calling a service, and rendering a typed view struct with one
//     template of templates/: auth.go (sign-in), home.go, request_list.go,
//     request_show.go, request_form.go (new and edit), inbox.go (with the
//     list helpers of requests.go), reports.go and charts.go, personal.go
//     (notifications), preferences.go, account.go;
//   - render.go (the layout's Page, render), form.go (fields and their
//     problems), format.go (template functions: when, days, labels);
//   - the buttons a request page shows come from workflow.Allowed, the
//     same rule workflow.Apply enforces;
//   - errors become HTML pages in errors.go with the API's status table.
package web
