package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/sources"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/views"
)

type integrationCreator interface {
	CreateIntegration(ctx context.Context, n store.NewIntegration) (store.Integration, store.WebhookURL, string, error)
}

type schemaClaimer interface {
	Claimable(ctx context.Context, schema string) error
}

// IntegrationCatalog shows the sources an integration can be added for.
func (h *Handler) IntegrationCatalog(c echo.Context) error {
	return render(c, http.StatusOK, views.CatalogPage(views.CatalogProps{
		Page:    h.page(c, "Add Integration", "integrations"),
		Sources: sources.All(),
	}))
}

// AddIntegrationForm shows the form for one source.
func (h *Handler) AddIntegrationForm(c echo.Context) error {
	src, ok := sources.BySlug(c.Param("source"))
	if !ok {
		return echo.ErrNotFound
	}
	return h.renderAddIntegration(c, http.StatusOK, src, addIntegrationInput{}, nil)
}

type addIntegrationInput struct {
	name, schema, primaryKey string
}

// AddIntegration creates the integration and its first webhook URL, then shows the URL once.
func (h *Handler) AddIntegration(c echo.Context) error {
	src, ok := sources.BySlug(c.Param("source"))
	if !ok {
		return echo.ErrNotFound
	}
	in := addIntegrationInput{
		name:       strings.TrimSpace(c.FormValue("name")),
		schema:     strings.TrimSpace(c.FormValue("schema")),
		primaryKey: strings.TrimSpace(c.FormValue("primary_key")),
	}
	errs := map[string]string{}
	if err := store.ValidateIntegrationName(in.name); err != nil {
		errs["name"] = err.Error()
	}
	schema := effectiveSchema(in)
	if err := store.ValidateSchemaName(schema); err != nil && (in.schema != "" || errs["name"] == "") {
		errs["schema"] = err.Error()
	}
	key := src.PrimaryKey
	if src.KeyEditable {
		key = in.primaryKey
		if err := store.ValidatePrimaryKey(key); err != nil {
			errs["primary_key"] = err.Error()
		}
	}
	if len(errs) == 0 {
		err := h.Warehouse.Claimable(c.Request().Context(), schema)
		switch {
		case errors.Is(err, warehouse.ErrForeignSchema):
			errs["schema"] = fmt.Sprintf("The PostgreSQL warehouse already has a schema %s that hookhouse did not make, so hookhouse would not load into it. Use a different schema name.", schema)
		case err != nil:
			// Unreachable now is no reason to refuse: the first load checks again.
			h.Log.Warn("checking a new integration's schema", "schema", schema, "err", err)
		}
	}
	if len(errs) > 0 {
		return h.renderAddIntegration(c, http.StatusUnprocessableEntity, src, in, errs)
	}

	u, _ := currentUser(c)
	created, _, token, err := h.Store.CreateIntegration(c.Request().Context(), store.NewIntegration{
		UserID: u.WorkspaceID, Name: in.name, Source: src.Slug, Schema: schema, PrimaryKey: key,
	})
	if errors.Is(err, store.ErrSchemaTaken) {
		errs["schema"] = fmt.Sprintf("The schema name %s is already in use. Change the integration name or use a different schema name.", schema)
		return h.renderAddIntegration(c, http.StatusUnprocessableEntity, src, in, errs)
	}
	if err != nil {
		return err
	}
	h.Log.Info("integration added", "integration_id", created.ID, "source", src.Slug, "schema", schema)
	return h.revealWebhookURL(c, created.ID, token, fmt.Sprintf("/integrations/%d", created.ID),
		fmt.Sprintf("%s was added. Copy its webhook URL now.", created.Name))
}

// effectiveSchema is the schema name typed by the user, or else the one the name gives.
func effectiveSchema(in addIntegrationInput) string {
	if in.schema != "" {
		return in.schema
	}
	return store.SchemaName(in.name)
}

func (h *Handler) renderAddIntegration(c echo.Context, status int, src sources.Source, in addIntegrationInput, errs map[string]string) error {
	return render(c, status, views.AddIntegrationPage(views.AddIntegrationProps{
		Page:         h.page(c, "Add "+src.Name, "integrations"),
		Source:       src,
		Name:         in.name,
		Schema:       in.schema,
		PrimaryKey:   in.primaryKey,
		Preview:      effectiveSchema(in),
		Errors:       errs,
		MaxSchemaLen: store.MaxSchemaLength,
		MaxKeyLen:    store.MaxPrimaryKeyLength,
	}))
}
