; Windows installer for LiteLLM Bridge (NSIS 3, Unicode).
;
;   makensis /DVERSION=0.1.0 /DAPPDIR=build\package\app\litellm-bridge ^
;            /DICON=build\package\litellm-bridge.ico /DOUTFILE=dist\litellm-bridge-0.1.0-setup.exe ^
;            installer\windows\litellm-bridge.nsi
;
; APPDIR is the signed app folder made by `python -m installer.build bundle`: it is copied as
; is (the manifest covers every file in it). Per-user install, no administrator rights; the
; Start-menu entry is always made, starting at sign-in only when the user ticks it.

Unicode true
ManifestDPIAware true
RequestExecutionLevel user
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "define VERSION (e.g. /DVERSION=0.1.0)"
!endif
!ifndef APPDIR
  !error "define APPDIR (the signed app folder)"
!endif
!ifndef OUTFILE
  !define OUTFILE "litellm-bridge-${VERSION}-setup.exe"
!endif

!define PRODUCT "LiteLLM Bridge"
!define EXE "litellm-bridge.exe"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\LiteLLMBridge"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\LiteLLM Bridge"
InstallDirRegKey HKCU "${UNINST_KEY}" "InstallLocation"

!include "MUI2.nsh"
!include "FileFunc.nsh"

!ifdef ICON
  !define MUI_ICON "${ICON}"
  !define MUI_UNICON "${ICON}"
!endif
!define MUI_FINISHPAGE_RUN "$INSTDIR\${EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${PRODUCT} now"

!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${PRODUCT} installer"
VIAddVersionKey "LegalCopyright" ""

Section "${PRODUCT}" SecMain
  SectionIn RO
  ; A running agent holds its files open: ask it to quit first (ignored when none runs).
  ExecWait '"$INSTDIR\${EXE}" stop --agent' $0
  ; Replace, never merge: a stale file from an older version would fail verification.
  RMDir /r "$INSTDIR\_internal"
  RMDir /r "$INSTDIR\sidecar"
  SetOutPath "$INSTDIR"
  File /r "${APPDIR}\*.*"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\${EXE}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "${PRODUCT}"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${EXE}"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINST_KEY}" "EstimatedSize" $0
SectionEnd

; Off unless ticked: the same Run entry the app's own autostart switch manages.
Section /o "Start at sign-in" SecAutostart
  WriteRegStr HKCU "${RUN_KEY}" "LiteLLMBridge" '"$INSTDIR\${EXE}"'
SectionEnd

!insertmacro MUI_FUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${SecMain} "The tray app and its local LiteLLM proxy."
  !insertmacro MUI_DESCRIPTION_TEXT ${SecAutostart} "Start ${PRODUCT} when you sign in to Windows."
!insertmacro MUI_FUNCTION_DESCRIPTION_END

Section "Uninstall"
  ExecWait '"$INSTDIR\${EXE}" stop --agent' $0
  DeleteRegValue HKCU "${RUN_KEY}" "LiteLLMBridge"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  RMDir /r "$INSTDIR\_internal"
  RMDir /r "$INSTDIR\sidecar"
  Delete "$INSTDIR\${EXE}"
  Delete "$INSTDIR\manifest.json"
  Delete "$INSTDIR\manifest.json.sig"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINST_KEY}"
  ; The user's config, env entries and keyring items stay: they are theirs.
SectionEnd
