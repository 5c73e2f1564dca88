const LANGUAGE_NAMES: Record<string, string> = {
  en: "English", es: "Spanish", fr: "French", pt: "Portuguese", ja: "Japanese", de: "German",
  it: "Italian", zh: "Chinese", hi: "Hindi", ar: "Arabic",
};

export const languageName = (code: string) => LANGUAGE_NAMES[code] ?? code;
