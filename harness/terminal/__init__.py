"""The terminal: transport, the ME-UICC link, the modem, PLMN selection, the data session and APN choice."""
