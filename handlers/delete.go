package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

type integrationDeleter interface {
	DeleteIntegration(ctx context.Context, userID, id int64, keepData bool) error
	// OnIntegrationsDeleted tells of deletes the other nodes of a cluster may have made, and
	// IntegrationIDs which integrations there are still.
	OnIntegrationsDeleted(func())
	IntegrationIDs(ctx context.Context) (map[int64]bool, error)
}

// schemaDropper deletes a schema's warehouse data (the warehouse's Drop).
type schemaDropper interface {
	Drop(ctx context.Context, schema string) error
}

// DeleteIntegration deletes an integration once the user has typed its schema name, keeping
// its warehouse data or dropping it as they chose.
func (h *Handler) DeleteIntegration(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	typed := strings.TrimSpace(c.FormValue("confirm_schema"))
	keepData := c.FormValue("data") != "drop"
	if typed != in.Schema {
		return h.renderSettings(c, http.StatusUnprocessableEntity, in, settingsInput{name: in.Name, confirmSchema: typed}, "",
			map[string]string{"confirm_schema": fmt.Sprintf("Type the schema name exactly, %s, to delete this integration.", in.Schema)})
	}
	if !keepData {
		// Pause first, so no webhook loads into the schema while it is dropped; if the drop
		// fails the integration stays, paused, and the user can try again.
		if err := h.Store.SetPaused(ctx, in.UserID, in.ID, true); err != nil {
			return err
		}
		err := h.Warehouse.Drop(ctx, in.Schema)
		if errors.Is(err, warehouse.ErrForeignSchema) || errors.Is(err, warehouse.ErrSchemaInUse) {
			return h.renderSettings(c, http.StatusConflict, in, settingsInput{name: in.Name, confirmSchema: typed}, "",
				map[string]string{"confirm_schema": fmt.Sprintf("The data was not dropped: %v. Delete the integration and keep the data, or drop the schema yourself.", err)})
		}
		if err != nil {
			return fmt.Errorf("drop schema %s: %w", in.Schema, err)
		}
	}
	if err := h.Store.DeleteIntegration(ctx, in.UserID, in.ID, keepData); err != nil {
		return err
	}
	h.forgetMetrics(in.ID) // its series would stay on /metrics until a restart (other nodes: forgetDeletedMetrics)
	h.Log.Info("integration deleted", "integration_id", in.ID, "schema", in.Schema, "kept_data", keepData)
	if keepData {
		h.flash(c, fmt.Sprintf("%s was deleted. Its data stays in schema %s.", in.Name, in.Schema))
	} else {
		h.flash(c, fmt.Sprintf("%s and its data in schema %s were deleted.", in.Name, in.Schema))
	}
	return c.Redirect(http.StatusSeeOther, "/integrations")
}
