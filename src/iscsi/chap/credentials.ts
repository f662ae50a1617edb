export interface ChapCredentials {
  userid: string;
  password: string;
  mutualUserid?: string;
  mutualPassword?: string;
}
